from lineage.cli import run

# `python -m lineage` names itself as the installed command does, in help and error messages.
run()
