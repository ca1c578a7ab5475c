"""graphrec.gnn"""
