// Forms that ask before they do something for good: <form data-confirm="Question?">.
// (An onsubmit attribute would be inline script, which the Content-Security-Policy forbids.)
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});
