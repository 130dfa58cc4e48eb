"""Host shapes: test host apps and projects that use ``realtime`` the way real DRF projects do."""
