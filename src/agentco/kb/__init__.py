"""Knowledge bases: files a team can search, with the source of every passage.

``KnowledgeBase.open(workspace, name)`` opens ``<workspace>/.agentco/kb/<name>.sqlite``; see
``base.py`` for how files are indexed and searched.
"""

from agentco.kb.base import AddReport, Hit, KnowledgeBase, RefreshReport, SourceInfo, kb_names, kb_path

__all__ = ["AddReport", "Hit", "KnowledgeBase", "RefreshReport", "SourceInfo", "kb_names", "kb_path"]
