"""One validator per section of an environment file; each takes the :class:`~app.config.reader.FieldReader`
and the raw section and returns the section's model, or None after recording every problem it found."""
