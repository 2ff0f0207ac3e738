"""Customer cards in Excel, both ways: the import template, the import, list exports."""
