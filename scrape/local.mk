# scrape/local.mk - exposition parsers, targets, SD, scrape loop.
include scrape/relabel.mk
