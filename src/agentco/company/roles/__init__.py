"""The five roles of the software company, one module each; ``pipeline.py`` wires them."""

from agentco.company.roles.architect import Architect
from agentco.company.roles.base import DOCUMENTS, CompanyRole, Stage
from agentco.company.roles.engineer import Engineer
from agentco.company.roles.product_manager import ProductManager
from agentco.company.roles.project_manager import ProjectManager
from agentco.company.roles.qa_engineer import QaEngineer

__all__ = ["DOCUMENTS", "Architect", "CompanyRole", "Engineer", "ProductManager", "ProjectManager", "QaEngineer",
           "Stage"]  # fmt: skip
