"""Running the real program with no cloud: mock engine, plan document, reports."""
