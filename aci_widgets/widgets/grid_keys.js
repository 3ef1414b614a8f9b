// Keyboard selection for DataTable (aci_widgets/widgets/grid.py): itables' widget, plus arrow keys.
//
// itables' own render does the table; this module imports it (its source is embedded below by grid.py, so it
// stays offline) and adds one thing: the table's element is focusable, and while it has the focus
// ArrowUp/ArrowDown move the selected row, Home/End go to the first/last row, PageUp/PageDown to the
// previous/next page. A row is selected by clicking it (the same path as a mouse click: DataTables' Select
// extension selects it and itables sends `selected_rows` to the kernel), so the kernel side cannot tell a key
// from a click and needs nothing new. Rows are taken from the DOM, in the order shown (after sorting and
// searching), and other pages through DataTables' own paging buttons.
//
// Why a window listener in the capture phase: Lumino's keymap (JupyterLab's and Notebook 7's shortcuts) listens
// on `document`, in the capture phase in Notebook 7 (`app.start()`) and in the bubble phase in JupyterLab 4
// (`start({bubblingKeydown: true})`). In command mode ArrowUp/ArrowDown are notebook shortcuts (they move
// the cell selection), matched on the focused element itself (`.jp-Notebook.jp-mod-commandMode ... :focus`). A
// listener on the table runs after Notebook 7's, too late; `data-lm-suppress-shortcuts` on the table would
// suppress *every* shortcut while it has the focus (Shift+Enter, Ctrl+S, Esc). The window's capture phase comes
// before the document's in both front ends, so this listener handles only our keys, without modifiers, and
// only when the focus is in the table (not in its search box), and stops just those. Escape moves the focus out
// to the notebook's cell, so the arrow keys are the notebook's again.

const ITABLES_SOURCE = __ITABLES_ESM__;

let itables = null;
function loadItables() {
  // The same way anywidget loads a widget's `_esm`: a module from a Blob URL (no network).
  if (itables === null) {
    const url = URL.createObjectURL(new Blob([ITABLES_SOURCE], { type: "text/javascript" }));
    itables = import(/* webpackIgnore: true */ url).then((module) => {
      URL.revokeObjectURL(url);
      return module.default;
    });
  }
  return itables;
}

const KEYS = new Set(["ArrowDown", "ArrowUp", "Home", "End", "PageDown", "PageUp"]);

// The data rows of the page shown, top to bottom ("No data" / "No matching records" rows excluded).
function pageRows(el) {
  return Array.from(el.querySelectorAll("table.dataTable > tbody > tr")).filter(
    (row) => row.cells.length > 0 && !row.cells[0].classList.contains("dt-empty"),
  );
}

// Turn a page with DataTables' paging button ("first", "previous", "next", "last"); false if there is none
// or it is disabled (already on that page). The redraw is synchronous (the data are in the browser).
function turnPage(el, which) {
  const button = el.querySelector(`.dt-paging [data-dt-idx="${which}"]`);
  if (!button || button.classList.contains("disabled") || button.getAttribute("aria-disabled") === "true") {
    return false;
  }
  button.click();
  return true;
}

// Select a row as a click does; a click on the selected row would deselect it (style "single" toggles).
function selectRow(row) {
  if (!row) return;
  if (!row.classList.contains("selected")) {
    (row.cells[0] || row).click();
  }
  row.scrollIntoView({ block: "nearest" });
}

// Where a key goes: [page to turn to or null, position on that page ("first", "last" or an index)].
function target(key, position, count) {
  switch (key) {
    case "ArrowDown":
      if (position < 0) return [null, 0];
      return position + 1 < count ? [null, position + 1] : ["next", "first"];
    case "ArrowUp":
      if (position < 0) return [null, "last"];
      return position > 0 ? [null, position - 1] : ["previous", "last"];
    case "Home":
      return ["first", "first"];
    case "End":
      return ["last", "last"];
    case "PageDown":
      return ["next", Math.max(position, 0)];
    case "PageUp":
      return ["previous", Math.max(position, 0)];
  }
  return [null, null];
}

function move(el, key) {
  let rows = pageRows(el);
  const position = rows.findIndex((row) => row.classList.contains("selected"));
  const [page, where] = target(key, position, rows.length);
  if (page !== null) {
    const turned = turnPage(el, page);
    if (!turned && (key === "ArrowDown" || key === "ArrowUp")) return; // the very first/last row already
    rows = pageRows(el);
  }
  if (rows.length === 0) return;
  const index = where === "first" ? 0 : where === "last" ? rows.length - 1 : Math.min(where, rows.length - 1);
  selectRow(rows[index]);
}

// Text fields (the search box) keep their own keys.
function isEditable(node) {
  return node instanceof Element && (node.isContentEditable || node.closest("input, textarea, select") !== null);
}

async function render({ model, el, signal }) {
  const base = await loadItables();
  const cleanup = await base.render({ model, el, signal });
  el.tabIndex = 0; // focusable: Tab reaches the table, and a click focuses it (below)
  // A click in the table focuses it. Cells are not focusable, and JupyterLab's notebook, on a mousedown in a
  // cell that was not the active one, focuses that cell's node: without this the next arrow key would be the
  // notebook's again. (The click comes after the notebook's mousedown handling.)
  const onClick = (event) => {
    if (!isEditable(event.target)) el.focus({ preventScroll: true });
  };
  const onKeydown = (event) => {
    if (!(event.target instanceof Node) || !el.contains(event.target) || isEditable(event.target)) return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.key === "Escape") {
      // Leave the table for the notebook: the focus goes to the nearest focusable element around the table
      // (the cell, in JupyterLab and Notebook 7); the key itself goes on to the notebook as usual.
      const around = el.parentElement && el.parentElement.closest("[tabindex]");
      if (around) around.focus({ preventScroll: true });
      return;
    }
    if (!KEYS.has(event.key)) return;
    event.preventDefault(); // no page scroll
    event.stopPropagation(); // no notebook shortcut (Lumino's keymap listens after this)
    move(el, event.key);
  };
  el.addEventListener("click", onClick);
  window.addEventListener("keydown", onKeydown, true);
  return () => {
    el.removeEventListener("click", onClick);
    window.removeEventListener("keydown", onKeydown, true);
    if (typeof cleanup === "function") cleanup();
  };
}

export default { render };
