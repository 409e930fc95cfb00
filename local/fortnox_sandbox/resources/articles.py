"""Articles (/3/articles): the article register Fortnox looks row ArticleNumbers up in."""

from fortnox_sandbox.http_util import ApiRoute

ROUTES: list[ApiRoute] = []
