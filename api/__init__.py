"""SLA monitor for customer-support tickets."""
