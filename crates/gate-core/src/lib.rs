//! Sans-IO traveller transactions, decision policy and reason codes for every gate profile.
