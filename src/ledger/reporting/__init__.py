"""The special report: what it says, as data (``model``, pure), and the files it becomes
(``documents``: Markdown, HTML, PDF; verify, diff, adopt), with its number formats and charts."""
