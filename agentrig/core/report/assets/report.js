// agentrig report: a repeat picker per scenario, framework toggles, and matrix squares that open
// their repeat. No data lives here: everything shown is in the server-rendered HTML and SVG.
(function () {
  "use strict";

  function showRepeat(section, repeat) {
    var blocks = section.querySelectorAll("div.repeat");
    for (var i = 0; i < blocks.length; i++) {
      blocks[i].hidden = blocks[i].getAttribute("data-repeat") !== String(repeat);
    }
    var select = section.querySelector("select.repeat-select");
    if (select) {
      select.value = String(repeat);
    }
  }

  var sections = document.querySelectorAll("section.scenario");
  for (var i = 0; i < sections.length; i++) {
    (function (section) {
      var select = section.querySelector("select.repeat-select");
      if (select) {
        select.addEventListener("change", function () {
          showRepeat(section, select.value);
        });
      }
    })(sections[i]);
  }

  var pips = document.querySelectorAll("a.pip[data-repeat]");
  for (var j = 0; j < pips.length; j++) {
    pips[j].addEventListener("click", function (event) {
      var target = document.getElementById(this.getAttribute("href").slice(1));
      if (target) {
        showRepeat(target, this.getAttribute("data-repeat"));
      }
    });
  }

  function applyToggles() {
    var hidden = {};
    var showAll = document.querySelectorAll("button.show-all");
  for (var b = 0; b < showAll.length; b++) {
    showAll[b].addEventListener("click", function () {
      var table = this.nextElementSibling;
      var all = table.classList.toggle("all");
      this.textContent = all ? "show differences only" : this.getAttribute("data-label");
    });
    showAll[b].setAttribute("data-label", showAll[b].textContent);
  }

  var toggles = document.querySelectorAll("input.framework-toggle");
    for (var k = 0; k < toggles.length; k++) {
      hidden[toggles[k].value] = !toggles[k].checked;
    }
    var items = document.querySelectorAll(
      "section.scenario .run[data-framework], section.scenario .outcome[data-framework]"
    );
    for (var m = 0; m < items.length; m++) {
      items[m].classList.toggle("toggled-off", hidden[items[m].getAttribute("data-framework")] === true);
    }
  }

  var showAll = document.querySelectorAll("button.show-all");
  for (var b = 0; b < showAll.length; b++) {
    showAll[b].addEventListener("click", function () {
      var table = this.nextElementSibling;
      var all = table.classList.toggle("all");
      this.textContent = all ? "show differences only" : this.getAttribute("data-label");
    });
    showAll[b].setAttribute("data-label", showAll[b].textContent);
  }

  var toggles = document.querySelectorAll("input.framework-toggle");
  for (var t = 0; t < toggles.length; t++) {
    toggles[t].addEventListener("change", applyToggles);
  }
})();
