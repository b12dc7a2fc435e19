"""The government data resource catalogue: the single source of truth for datasets and fields."""

from jilin_pipelines.catalogue.loader import Catalogue, CatalogueError, Entry, catalogue, load_catalogue
from jilin_pipelines.catalogue.models import Dataset, Department, FieldSpec, FieldType, SharingClass, Standard

__all__ = [
    "Catalogue",
    "CatalogueError",
    "Dataset",
    "Department",
    "Entry",
    "FieldSpec",
    "FieldType",
    "SharingClass",
    "Standard",
    "catalogue",
    "load_catalogue",
]
