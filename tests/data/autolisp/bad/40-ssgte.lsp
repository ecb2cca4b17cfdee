;; expect: misspelled-builtin
(defun c:S (/ ss)
  (setq ss (ssgte '((0 . "CIRCLE"))))
  (princ)
)
