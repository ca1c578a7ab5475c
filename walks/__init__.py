"""graphrec.walks"""
