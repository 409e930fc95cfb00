"""The Fortnox resources whose models are in ``fortnox/models/articles.py``."""

from collections.abc import Iterator

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.models.articles import Article, ArticleListItem, ArticleWrite
from fortnox_bridge.fortnox.resources.base import Resource, segment, unwrap


class Articles(Resource):
    """The article register, which the mapping check reads to confirm each mapped ArticleNumber exists."""

    def list(self, **filters: str | int) -> Iterator[ArticleListItem]:
        return pagination.iterate(
            self._http, "/3/articles", key="Articles", parse=ArticleListItem.model_validate, params=filters
        )

    def get(self, number: str) -> Article:
        path = f"/3/articles/{segment(number)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "Article", Article, path)

    def create(self, article: ArticleWrite) -> Article:
        body = self._http.request("POST", "/3/articles", body={"Article": article.to_fortnox()}, idempotent=False)
        return unwrap(body, "Article", Article, "POST /3/articles")

    def update(self, number: str, article: ArticleWrite) -> Article:
        path = f"/3/articles/{segment(number)}"
        body = self._http.request("PUT", path, body={"Article": article.to_fortnox()}, idempotent=True)
        return unwrap(body, "Article", Article, path)
