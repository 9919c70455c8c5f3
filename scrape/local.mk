# scrape/local.mk - exposition parsers, targets, relabeling, SD, scrape loop.
