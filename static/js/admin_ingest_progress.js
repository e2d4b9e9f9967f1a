// Polls the run's progress while items are pending, then reloads once so the item list is final.
(function () {
  "use strict";
  const box = document.querySelector(".ingest-progress");
  if (!box) return;
  const bar = document.getElementById("ingest-progress-bar");
  const text = document.getElementById("ingest-progress-text");
  let sawPending = false;
  async function tick() {
    try {
      const response = await fetch(box.dataset.progressUrl, { credentials: "same-origin" });
      const data = await response.json();
      bar.max = Math.max(data.total, 1);
      bar.value = data.done;
      text.textContent = `已处理 ${data.done}/${data.total}：新建 ${data.created}，更新 ${data.updated}，未变化 ${data.unchanged}，失败 ${data.failed}`;
      if (!data.finished) {
        sawPending = true;
        setTimeout(tick, 1000);
      } else if (sawPending) {
        window.location.reload();
      }
    } catch (err) {
      text.textContent = "无法获取进度，请刷新页面。";
    }
  }
  tick();
})();
