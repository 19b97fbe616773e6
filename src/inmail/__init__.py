"""inmail: credit-metered direct messaging with an auditable credit ledger."""

__version__ = "0.1.0"
