"""Land prices by street (giá đất theo tuyến đường): a Motcua chat utility plug-in."""
