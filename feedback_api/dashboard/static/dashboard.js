// Progressive enhancement only: every action works without this file.
// "Select all" for the queue's bulk assignment.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.querySelector("[data-select-all]");
  if (!all) return;
  const boxes = () => document.querySelectorAll("input[name='task_ids']");
  all.addEventListener("change", () => {
    boxes().forEach((box) => { box.checked = all.checked; });
  });
});
