"""The store's views (thin: the policy in ``view_config`` options, predicates and exception views,
the work in services). ``includeme`` registers the view options the modules here use before
``config.scan`` reads them."""


def includeme(config):
    config.include(".predicates")
