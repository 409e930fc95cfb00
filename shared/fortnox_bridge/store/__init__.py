"""DynamoDB state behind small typed interfaces; one table, designed in docs/table-design.md."""
