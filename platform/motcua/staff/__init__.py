"""The staff side: sign-in and roles, officer inbox, feedback handling, admin console, KPIs."""
