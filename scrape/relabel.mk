# scrape/relabel.mk - relabel_configs / metric_relabel_configs.
