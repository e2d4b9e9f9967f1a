// The run page's progress. With workers it polls until nothing is pending; without a broker
// (inline mode) each request processes the run's next items for a few seconds, so an upload
// is worked off while the page is open, never inside the upload request itself.
(function () {
  "use strict";
  const box = document.querySelector(".ingest-progress");
  if (!box) return;
  const bar = document.getElementById("ingest-progress-bar");
  const text = document.getElementById("ingest-progress-text");
  const csrf = box.dataset.csrfToken;
  let sawPending = false;
  let inline = false;

  async function fetchProgress() {
    if (inline) {
      return fetch(box.dataset.stepUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf },
      });
    }
    return fetch(box.dataset.progressUrl, { credentials: "same-origin" });
  }

  async function tick() {
    try {
      const response = await fetchProgress();
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      inline = data.inline;
      bar.max = Math.max(data.total, 1);
      bar.value = data.done;
      text.textContent = `已处理 ${data.done}/${data.total}：新建 ${data.created}，更新 ${data.updated}，未变化 ${data.unchanged}，失败 ${data.failed}`;
      if (!data.finished) {
        sawPending = true;
        setTimeout(tick, inline ? 100 : 1000);
      } else if (sawPending) {
        window.location.reload();
      }
    } catch (err) {
      text.textContent = "暂时无法获取进度，稍后自动重试。";
      setTimeout(tick, 5000);
    }
  }
  tick();
})();
