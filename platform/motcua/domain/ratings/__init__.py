"""Ratings (đánh giá mức độ hài lòng) of one dossier's handling: one per rater per dossier,
editable for ``EDIT_DAYS``, pushed to the one-stop system (job ``ratings.push``) when the
tenant's adapter declares ``evaluation``, and counted in the KPIs from the ``evaluation`` table.
"""
