"""The GraphQL texts of the end-to-end tests are valid against the installed Dagster's schema."""

import pytest
from dagster_graphql.schema import create_schema
from graphql import parse, validate
from queries import ALL


@pytest.mark.parametrize("text", ALL, ids=lambda t: t.split("(")[0].split("{")[0].strip())
def test_graphql_text_is_valid(text):
    assert validate(create_schema().graphql_schema, parse(text)) == []
