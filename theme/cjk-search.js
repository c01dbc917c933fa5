// Search in Chinese. mdBook's index keeps only the ASCII letters and digits of a word, so
// it holds no Chinese words at all, and a search for 队列 finds nothing. When a query has
// Chinese (or Japanese, Korean) in it, this looks for each of its words in the text the index
// stores with every section instead, counting matches in titles more than in the body.
(function () {
    "use strict";
    if (typeof elasticlunr === "undefined") {
        return;
    }
    const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
    const search = elasticlunr.Index.prototype.search;
    elasticlunr.Index.prototype.search = function (query, config) {
        if (!cjk.test(query)) {
            return search.call(this, query, config);
        }
        const words = query.toLowerCase().split(/\s+/).filter((word) => word.length > 0);
        const fields = [["title", 3], ["breadcrumbs", 2], ["body", 1]];
        const results = [];
        for (const [ref, doc] of Object.entries(this.documentStore.docs)) {
            let score = 0;
            for (const word of words) {
                for (const [field, boost] of fields) {
                    score += boost * ((doc[field] || "").toLowerCase().split(word).length - 1);
                }
            }
            if (score > 0) {
                results.push({ ref: ref, score: score, doc: doc });
            }
        }
        return results.sort((a, b) => b.score - a.score);
    };
})();
