"""Media: uploads (multipart and tus), storage (local or S3), probing, transcoding, images.

Start with ``service.py`` (intake, the job, JSON); ``probe.py`` decides what a file is and
refuses unsafe ones, ``transcode.py`` is the one ffmpeg run, ``tus.py`` resumable uploads,
``storage.py`` the two backends, ``files.py`` serves local files at ``/media-files``.
"""
