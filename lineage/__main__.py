from lineage.cli import main

# `python -m lineage` names itself as the installed command does, in help and error messages.
main(prog_name="lineage")
