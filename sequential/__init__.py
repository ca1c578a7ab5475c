"""graphrec.sequential"""
