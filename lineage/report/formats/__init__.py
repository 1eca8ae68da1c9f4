"""One module per output format, each with `render(report, **options) -> str`."""
