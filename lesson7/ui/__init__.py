"""`lesson7 ui`: a local web page that restores (or colorizes) a dropped photo.

`photo_tasks.py` what the page can do (a registry of `PhotoTask`s) · `uploads.py` checks before
decoding (not an image, too many bytes or pixels) · `jobs.py` the one-at-a-time queue ·
`app.py` the FastAPI app (`create_app(tasks, cfg)`) · `page.html` the page · `serve.py` loads
the shipped models and runs uvicorn. Importing this package imports neither torch nor FastAPI.
"""
