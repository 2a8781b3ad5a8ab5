"""Enrollment (参保): insured persons, employers, coverage, filings, approvals, voucher codes."""
