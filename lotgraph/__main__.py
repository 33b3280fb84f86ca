from lotgraph.cli import app

app(prog_name="lotgraph")
