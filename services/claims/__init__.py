"""Claims (结算): settlement, reimbursement, benefit policies, drug catalog, fund supervision."""
