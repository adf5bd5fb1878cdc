"""Return of results by post (trả kết quả qua bưu chính): addresses in the 2025 two-level
administrative units, the fee, and the request to the one-stop system (``service``)."""
