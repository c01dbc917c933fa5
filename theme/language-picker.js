// The language picker: a button in the menu bar of every page, and a list of the book's
// languages, each a link to the same page in that language. The English book is at the root
// of the site, each translation in a folder named by its language (zh-CN/), as
// `MDBOOK_BOOK__LANGUAGE=zh-CN mdbook build -d book/zh-CN` puts it.
(function () {
    "use strict";
    const languages = [["en", "English"], ["zh-CN", "简体中文"]];
    const current = document.documentElement.lang || "en";
    // path_to_root is set by mdBook on every page: "" or "../" and so on.
    const bookRoot = new URL((typeof path_to_root === "string" && path_to_root) || "./", location.href);
    const page = location.href.slice(bookRoot.href.length).split("#")[0] || "index.html";
    const siteRoot = current === "en" ? bookRoot : new URL("../", bookRoot);

    const button = document.createElement("button");
    button.id = "language-toggle";
    button.className = "icon-button";
    button.type = "button";
    button.title = "Change language · 切换语言";
    button.setAttribute("aria-label", button.title);
    button.setAttribute("aria-haspopup", "true");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "language-list");
    button.textContent = "文A";

    const list = document.createElement("ul");
    list.id = "language-list";
    list.className = "theme-popup";
    list.setAttribute("role", "menu");
    for (const [code, name] of languages) {
        const link = document.createElement("a");
        link.className = "theme language";
        link.setAttribute("role", "menuitem");
        link.lang = code;
        link.hreflang = code;
        link.textContent = name;
        link.href = new URL((code === "en" ? "" : code + "/") + page, siteRoot).href;
        if (code === current) {
            link.setAttribute("aria-current", "page");
        }
        const item = document.createElement("li");
        item.setAttribute("role", "none");
        item.appendChild(link);
        list.appendChild(item);
    }

    const show = (open) => {
        list.style.display = open ? "block" : "none";
        button.setAttribute("aria-expanded", String(open));
    };
    button.addEventListener("click", (event) => {
        event.stopPropagation();
        show(list.style.display !== "block");
    });
    document.addEventListener("click", () => show(false));

    const bar = document.querySelector("#mdbook-menu-bar .right-buttons");
    if (bar) {
        const holder = document.createElement("div");
        holder.className = "language-picker";
        holder.append(button, list);
        bar.prepend(holder);
    }
})();
