"""What every yibao process shares: settings, database, errors, auth, HTTP, logging, validators."""
