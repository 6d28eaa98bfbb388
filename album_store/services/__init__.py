"""Services: the work behind the views. Views find them with ``request.find_service(IFace)``."""


def includeme(config):
    config.include("pyramid_services")
    config.include("album_store.storage")  # before the services that keep files: media, audio, downloads
    config.include(".tokens")
    config.include(".audit")
    config.include(".payments")
    config.include(".purchases")
    config.include(".accounts")
    config.include(".downloads")
    config.include(".mail")
    config.include(".media")
    config.include(".audio")
    config.include(".catalog")
    config.include(".reports")
