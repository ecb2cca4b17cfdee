;; The helpers live in a shared file loaded first.
(load "mytools.lsp")
(defun c:QNOTE (/ pt)
  (setq pt (getpoint "\nNote position: "))
  (mt:note-at pt (mt:today-string))
  (princ)
)
