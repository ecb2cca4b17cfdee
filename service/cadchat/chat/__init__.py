"""Chat that writes AutoLISP: providers (offline, DashScope, Bailian), prompts, guards, streaming.

Plain modules, testable without HTTP; `handlers/chat.py` is the thin HTTP layer and
`chat.setup.chat_ctx` creates (and closes) every resource in the app's cleanup_ctx.
"""
