// Under every figure (an SVG image in the page), a link that opens it at full size:
// on a phone a figure shrinks to the width of the screen, and its small print with it.
(function () {
    "use strict";
    const full = document.documentElement.lang.startsWith("zh") ? "查看原尺寸图片" : "Open the figure at full size";
    for (const label of document.querySelectorAll(".content label.checkbox-label")) {
        const img = label.querySelector("img");
        if (!img || !img.getAttribute("src").endsWith(".svg")) {
            continue;
        }
        const link = document.createElement("a");
        link.className = "figure-link";
        link.href = img.getAttribute("src");
        link.textContent = full + " ↗";
        label.parentElement.insertAdjacentElement("afterend", link);
    }
})();
