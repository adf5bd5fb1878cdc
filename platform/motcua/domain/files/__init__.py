"""Files citizens hand us (photos of papers): the storage behind one interface (``storage``) and
the checks every image passes before it is kept (``images``). Who may read a file is decided by
the feature that owns it (submissions), never by the storage."""
