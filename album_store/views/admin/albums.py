"""The owner's albums: the list, a new album, and the edit page with its sections (details, tracks,
cover, download file, on sale or not, archive or delete, history)."""

from pyramid.httpexceptions import HTTPConflict, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from ...caching import NO_STORE
from ...forms import AlbumForm, AlbumSearchForm, ConfirmForm, CoverForm, DownloadFileForm, TrackAudioForm, TracksForm
from ...models.transactions import must_not_commit
from ...parsing import page_number, whole_number
from ...services.audio import AUDIO_STATES, PREVIEW_SECONDS, IAudioService
from ...services.audit import IAuditLog
from ...services.catalog import (
    ALBUM_STATUSES,
    AlbumDetails,
    AlbumHasSales,
    CannotPublish,
    ICatalogAdmin,
    SlugTaken,
    TrackRow,
)
from ...services.downloads import IDownloadService
from ...services.media import COVER_SIZES, UploadRefused
from ...storage import IFileStorage
from ...templating import format_duration
from . import PAGE_SIZE, TEMPLATES, page_count, page_links

EMPTY_TRACK_ROWS = 3


def _catalog(request):
    return request.find_service(ICatalogAdmin)


def _edit_url(request, album, anchor=None):
    return (
        request.route_url("admin_album_edit", id=album.id, _anchor=anchor)
        if anchor
        else request.route_url("admin_album_edit", id=album.id)
    )


# --- the list ----------------------------------------------------------------------------------
@view_config(route_name="admin_albums", renderer=TEMPLATES + "albums.pt", permission="admin")
def album_list(context, request):
    form = AlbumSearchForm(request.GET)
    refused = None
    if not form.validate():
        refused = "; ".join(f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items())
        form = AlbumSearchForm()
        request.response.status = 400
    page = page_number(request)
    rows, total = _catalog(request).list_albums(
        query=form.q.data or "", status=form.status.data or "", page=page, page_size=PAGE_SIZE
    )
    pages = page_count(total, page)
    query = {"q": form.q.data or "", "status": form.status.data or ""}
    return {
        "form": form,
        "refused": refused,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "pager": page_links(request, "admin_albums", page, pages, query),
        "statuses": ALBUM_STATUSES,
    }


# --- a new album -------------------------------------------------------------------------------
def _details(form):
    return AlbumDetails(
        title=form.title.data,
        artist=form.artist.data,
        year=form.year.data,
        price_cents=form.price_cents,
        currency=form.currency.data,
        description=form.description.data or "",
        slug=form.slug.data or "",
        minimum_cents=form.minimum_cents,
    )


def _store_currency(request):
    return request.registry.settings["store.currency"]


@view_config(
    route_name="admin_album_new", renderer=TEMPLATES + "album_new.pt", permission="admin", request_method="GET"
)
@view_config(
    route_name="admin_album_new",
    renderer=TEMPLATES + "album_new.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
)
def album_new(context, request):
    currency = _store_currency(request)
    form = AlbumForm(
        request.POST if request.method == "POST" else None, store_currency=currency, data={"currency": currency}
    )
    if request.method != "POST":
        return {"form": form}
    if not form.validate():
        request.response.status = 400
        return {"form": form}
    try:
        album = _catalog(request).create_album(_details(form), actor=request.user)
    except SlugTaken:
        must_not_commit(request)
        form.slug.errors.append("Another album already has this address; choose another.")
        request.response.status = 409
        return {"form": form}
    request.session.flash(
        f"“{album.title}” is created, unpublished. Add its tracks, cover and download file, then publish it."
    )
    return HTTPSeeOther(_edit_url(request, album))


# --- the edit page -----------------------------------------------------------------------------
def _tracks_form(album):
    rows = [
        {
            "id": track.id,
            "position": track.position,
            "title": track.title,
            "duration": format_duration(track.duration_seconds),
        }
        for track in album.tracks
    ]
    return TracksForm(data={"tracks": rows + [{}] * EMPTY_TRACK_ROWS})


def edit_page(request, album, *, status=200, **forms):
    """The edit page's values; a section posted with errors passes its own form to show them."""
    request.response.status = status
    currency = _store_currency(request)
    details = forms.get("details") or AlbumForm(
        store_currency=currency,
        data={
            "title": album.title,
            "artist": album.artist,
            "year": album.year,
            "currency": album.currency,
            "price": AlbumForm.price_input(album),
            "description": album.description,
            "slug": album.slug,
            **AlbumForm.pricing_data(album),
        },
    )
    downloads = request.find_service(IDownloadService)
    file_name = downloads.file_for(album)
    catalog = _catalog(request)
    return {
        "album": album,
        "details": details,
        "tracks": forms.get("tracks") or _tracks_form(album),
        "cover": forms.get("cover") or CoverForm(),
        "file": forms.get("file") or DownloadFileForm(),
        "file_size": request.find_service(IFileStorage).size(file_name) if file_name is not None else None,
        "cover_sizes": COVER_SIZES,
        "sales": catalog.sales_count(album),
        "audio_form": forms.get("audio"),
        "audio_track_id": forms.get("audio_track_id"),
        "formats": request.find_service(IAudioService).formats_of(album),
        "audio_states": AUDIO_STATES,
        "preview_seconds": PREVIEW_SECONDS,
        "error": forms.get("error"),
        "history": request.find_service(IAuditLog).for_album(album.id),
    }


@view_config(
    route_name="admin_album_edit", renderer=TEMPLATES + "album_edit.pt", permission="admin", request_method="GET"
)
def album_edit(context, request):
    return edit_page(request, context.album)


@view_config(
    route_name="admin_album_edit",
    renderer=TEMPLATES + "album_edit.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
)
def album_save(context, request):
    album = context.album
    form = AlbumForm(request.POST, store_currency=_store_currency(request))
    if not form.validate():
        return edit_page(request, album, status=400, details=form)
    try:
        changes = _catalog(request).update_album(album, _details(form), actor=request.user)
    except SlugTaken:
        must_not_commit(request)
        form.slug.errors.append("Another album already has this address; choose another.")
        return edit_page(request, album, status=409, details=form)
    if changes:
        request.find_service(IAudioService).queue_formats(album)  # the tags follow the details
    request.session.flash("Saved: " + "; ".join(changes) + "." if changes else "Nothing changed.")
    return HTTPSeeOther(_edit_url(request, album))


@view_config(
    route_name="admin_album_tracks",
    renderer=TEMPLATES + "album_edit.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
)
def album_tracks(context, request):
    album = context.album
    form = TracksForm(request.POST)
    if not form.validate():
        return edit_page(request, album, status=400, tracks=form)
    rows = [
        TrackRow(
            id=entry.id.data,
            title=entry.title.data,
            duration_seconds=entry.seconds or 0,
            position=entry.position.data,
            remove=entry.remove.data,
        )
        for entry in (subform.form for subform in form.tracks)
        if not entry.is_blank
    ]
    changes = _catalog(request).save_tracks(album, rows, move=form.requested_move(), actor=request.user)
    if changes:
        request.find_service(IAudioService).queue_formats(album)
    request.session.flash("Tracks saved." if changes else "The tracks are unchanged.")
    return HTTPSeeOther(_edit_url(request, album, "tracks"))


def _take_upload(request, album, form, *, limit, section, anchor, store, done):
    """The cover and the download file take an upload the same way: the form's one file field, handed
    to ``store(upload, max_bytes)`` (``max_bytes``: the setting ``limit``, the view's ``max_body``),
    then back to the section with ``done`` flashed; a missing or refused file is the section again
    with its error (400)."""
    if not form.validate():
        return edit_page(request, album, status=400, **{section: form})
    field = next(iter(form))
    try:
        store(field.data, int(request.registry.settings[limit]))
    except UploadRefused as refused:
        field.errors.append(str(refused))
        return edit_page(request, album, status=400, **{section: form})
    request.session.flash(done)
    return HTTPSeeOther(_edit_url(request, album, anchor))


#: The settings that limit each upload, declared on its view (``max_body=``, see ``uploads.py``).
COVER_LIMIT, FILE_LIMIT, AUDIO_LIMIT = "store.max_cover_bytes", "store.max_file_bytes", "store.max_audio_bytes"


@view_config(
    route_name="admin_album_cover",
    renderer=TEMPLATES + "album_edit.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
    max_body=COVER_LIMIT,
)
def album_cover(context, request):
    album = context.album
    catalog = _catalog(request)
    audio = request.find_service(IAudioService)
    if request.POST.get("remove"):
        catalog.remove_cover(album, actor=request.user)
        audio.queue_formats(album)
        request.session.flash("The uploaded cover is removed; the drawn one is shown.")
        return HTTPSeeOther(_edit_url(request, album, "cover-section"))

    def store(upload, max_bytes):
        catalog.replace_cover(album, upload.file, max_bytes=max_bytes, actor=request.user)
        audio.queue_formats(album)  # the cover goes into the formats' tags

    return _take_upload(
        request,
        album,
        CoverForm(request.POST),
        limit=COVER_LIMIT,
        section="cover",
        anchor="cover-section",
        store=store,
        done="The new cover is in place.",
    )


@view_config(
    route_name="admin_album_file",
    renderer=TEMPLATES + "album_edit.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
    max_body=FILE_LIMIT,
)
def album_file(context, request):
    album = context.album

    def store(upload, max_bytes):
        _catalog(request).replace_download(
            album, upload.file, filename=upload.filename, max_bytes=max_bytes, actor=request.user
        )

    return _take_upload(
        request,
        album,
        DownloadFileForm(request.POST),
        limit=FILE_LIMIT,
        section="file",
        anchor="file-section",
        store=store,
        done="The download file is in place.",
    )


@view_config(
    route_name="admin_track_audio",
    renderer=TEMPLATES + "album_edit.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
    max_body=AUDIO_LIMIT,
)
def track_audio(context, request):
    """A track's audio: upload a new file (its preview is then made by the job queue), move where the
    preview starts, or try a failed preview again."""
    album = context.album
    track_id = whole_number(request.matchdict["track_id"])
    track = next((t for t in album.tracks if t.id == track_id), None)
    if track is None:
        raise HTTPNotFound("This album has no track with this number.")
    form = TrackAudioForm(request.POST)
    if not form.validate():
        return edit_page(request, album, status=400, audio=form, audio_track_id=track.id)
    audio = request.find_service(IAudioService)
    start = form.preview_start.data or 0
    if hasattr(form.audio.data, "file"):
        try:
            kind, seconds = audio.replace_master(
                track, form.audio.data.file, max_bytes=int(request.registry.settings[AUDIO_LIMIT]), preview_start=start
            )
        except UploadRefused as refused:
            must_not_commit(request)
            form.audio.errors.append(str(refused))
            return edit_page(request, album, status=400, audio=form, audio_track_id=track.id)
        request.find_service(IAuditLog).record(
            request.user,
            "audio",
            f"Uploaded the audio of “{track.title}” ({kind.upper()}, {format_duration(round(seconds))}).",
            album_id=album.id,
        )
        request.session.flash(
            f"The audio of “{track.title}” is uploaded ({format_duration(round(seconds))}); its preview is being made."
        )
    elif form.retry.data:
        audio.retry(track)
        request.session.flash(f"The preview of “{track.title}” is being made again.")
    else:
        audio.set_preview_start(track, start)
        request.session.flash(f"The preview of “{track.title}” now starts at {format_duration(start)}.")
    return HTTPSeeOther(_edit_url(request, album, "audio"))


@view_config(
    route_name="admin_album_audio_status",
    renderer="json",
    permission="admin",
    request_method="GET",
    cache_control=NO_STORE,
)
def audio_status(context, request):
    """Where the album's audio work stands, for the editor's progress bars (static/admin-audio.js)."""
    album = context.album
    formats = request.find_service(IAudioService).formats_of(album)
    return {
        "tracks": [
            {"id": t.id, "state": t.audio_state, "progress": t.audio_progress, "error": t.audio_error}
            for t in album.tracks
        ],
        "formats": [
            {
                "format": spec.key,
                "state": row.state if row else "queued",
                "progress": row.progress if row else 0,
                "error": row.error if row else None,
            }
            for spec, row in formats
        ],
    }


@view_config(
    route_name="admin_album_publish",
    renderer=TEMPLATES + "album_edit.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
)
def album_publish(context, request):
    album = context.album
    publish = request.POST.get("publish") == "1"
    try:
        _catalog(request).set_published(album, publish, actor=request.user)
    except CannotPublish as refused:
        return edit_page(request, album, status=409, error=str(refused))
    request.session.flash(f"“{album.title}” is on sale." if publish else f"“{album.title}” is no longer on sale.")
    return HTTPSeeOther(_edit_url(request, album))


@view_config(route_name="admin_album_archive", permission="admin", request_method="POST", require_csrf=True)
def album_archive(context, request):
    album = context.album
    catalog = _catalog(request)
    if request.POST.get("action") == "restore":
        catalog.restore_album(album, actor=request.user)
        request.session.flash(f"“{album.title}” is back from the archive, unpublished.")
    else:
        catalog.archive_album(album, actor=request.user)
        request.session.flash(f"“{album.title}” is archived: off sale and out of the everyday list.")
    return HTTPSeeOther(_edit_url(request, album))


@view_config(
    route_name="admin_album_delete", renderer=TEMPLATES + "album_delete.pt", permission="admin", request_method="GET"
)
def album_delete_confirm(context, request):
    return {"album": context.album, "sales": _catalog(request).sales_count(context.album)}


@view_config(
    route_name="admin_album_delete",
    renderer=TEMPLATES + "album_delete.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
)
def album_delete(context, request):
    album = context.album
    if not ConfirmForm(request.POST).confirmed("delete"):
        return HTTPSeeOther(request.route_url("admin_album_delete", id=album.id))
    try:
        _catalog(request).delete_album(album, actor=request.user)
    except AlbumHasSales as sold:
        must_not_commit(request)
        request.response.status = HTTPConflict.code
        return {"album": album, "sales": sold.count, "refused": True}
    request.session.flash(f"“{album.title}” is deleted.")
    return HTTPSeeOther(request.route_url("admin_albums"))
