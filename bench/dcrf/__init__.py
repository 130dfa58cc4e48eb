"""The djangochannelsrestframework reference: the same job (a REST change pushed to the instance's subscribers).

Done the way DCRF documents it. Installed only in the bench environment
(``.venv-bench``); never part of the application.
"""
