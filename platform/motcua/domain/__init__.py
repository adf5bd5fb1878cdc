"""Domain services, one folder per concern (dossiers, ratings, feedback, ...): SQL and rules, no HTTP."""
