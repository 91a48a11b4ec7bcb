// The language switch, on every page of both editions: "中文" on an English page leads
// to the same page of the Chinese edition, "English" on a Chinese page back. The
// English edition is built into book/book/, the Chinese one into book/book/zh-CN/
// (README.md, "The Chinese edition"); `path_to_root` is set by mdBook on every page.
(function () {
    "use strict";
    const chinese = document.documentElement.lang === "zh-CN";
    const root = new URL(path_to_root || "./", window.location.href);
    let page = window.location.href.slice(root.href.length) || "index.html";
    const other = chinese
        ? new URL("../" + page, root)
        : new URL("zh-CN/" + page, root);
    const buttons = document.querySelector(".right-buttons");
    if (!buttons) {
        return;
    }
    const link = document.createElement("a");
    link.href = other.href;
    link.className = "language-switch";
    link.lang = chinese ? "en" : "zh-CN";
    link.title = chinese ? "Read this page in English" : "阅读本页的中文版";
    link.textContent = chinese ? "English" : "中文";
    buttons.prepend(link);
})();
