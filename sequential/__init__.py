"""graphrec.sequential: SASRec trained on whole sequences, and SASRec fused with the global item graph."""

from sequential.config import FusionConfig, SASRecConfig
from sequential.fusion import FusedSASRec
from sequential.sasrec import SASRec

__all__ = ["SASRec", "SASRecConfig", "FusedSASRec", "FusionConfig"]
